/** skein/estimators: scikit-style estimators and searches (lands with the estimator issues). */
export {};
