;; Feature columns -> a row-major block, for models that take rows (onnxruntime, XGBoost, any
;; `predict(Matrix)`), two rows and two columns at a time: each pair of columns gives two
;; 2 x 2 transposes by shuffles. Columns and the block live in this thread's scratch arena
;; (src/data/f64-arena.ts). A copy moves bits unchanged, so the result is the scalar loop's.
;;
;; Built into rows-wasm.ts by `npm run build:wasm` (scripts/build-wasm.mjs).
(module
  (import "env" "memory" (memory 1))

  ;; out[i * p + j] = column j [i] for i < n, j < p. $cols holds p i32 addresses (each column's
  ;; first row of the block).
  (func (export "toRows") (param $cols i32) (param $p i32) (param $n i32) (param $out i32)
    (local $i i32) (local $j i32) (local $c0 i32) (local $c1 i32) (local $a v128) (local $b v128)
    (local $row0 i32) (local $row1 i32) (local $stride i32) (local $pairs i32) (local $o i32)
    (local.set $stride (i32.shl (local.get $p) (i32.const 3)))
    (local.set $pairs (i32.and (local.get $p) (i32.const -2)))
    ;; pairs of rows
    (local.set $i (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.gt_u (i32.add (local.get $i) (i32.const 2)) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 3)))
        (local.set $row0 (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $row1 (i32.add (local.get $row0) (local.get $stride)))
        (local.set $j (i32.const 0))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $j) (local.get $pairs)))
            (local.set $c0 (i32.load (i32.add (local.get $cols) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $c1 (i32.load offset=4 (i32.add (local.get $cols) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $a (v128.load (i32.add (local.get $c0) (local.get $o))))
            (local.set $b (v128.load (i32.add (local.get $c1) (local.get $o))))
            (v128.store (i32.add (local.get $row0) (i32.shl (local.get $j) (i32.const 3)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a) (local.get $b)))
            (v128.store (i32.add (local.get $row1) (i32.shl (local.get $j) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a) (local.get $b)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $cols)))
        ;; an odd last column
        (if (i32.lt_u (local.get $pairs) (local.get $p))
          (then
            (local.set $c0 (i32.load (i32.add (local.get $cols) (i32.shl (local.get $pairs) (i32.const 2)))))
            (local.set $a (v128.load (i32.add (local.get $c0) (local.get $o))))
            (f64.store (i32.add (local.get $row0) (i32.shl (local.get $pairs) (i32.const 3))) (f64x2.extract_lane 0 (local.get $a)))
            (f64.store (i32.add (local.get $row1) (i32.shl (local.get $pairs) (i32.const 3))) (f64x2.extract_lane 1 (local.get $a)))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $rows)))
    ;; an odd last row
    (if (i32.lt_u (local.get $i) (local.get $n))
      (then
        (local.set $o (i32.shl (local.get $i) (i32.const 3)))
        (local.set $row0 (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $j (i32.const 0))
        (block $lastDone
          (loop $last
            (br_if $lastDone (i32.ge_u (local.get $j) (local.get $p)))
            (f64.store (i32.add (local.get $row0) (i32.shl (local.get $j) (i32.const 3)))
              (f64.load (i32.add (i32.load (i32.add (local.get $cols) (i32.shl (local.get $j) (i32.const 2)))) (local.get $o))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $last))))))
)
