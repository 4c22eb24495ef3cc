/** skein/data: partitioned numeric collections and Parquet (lands with the "skein/data" issue). */
export {};
