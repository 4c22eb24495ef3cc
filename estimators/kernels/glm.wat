;; SIMD kernels for GLM prediction over feature columns that live in this thread's scratch arena
;; (src/data/f64-arena.ts). Two float64 lanes at a time; every result is bit-for-bit what the
;; scalar JavaScript path gives:
;;   - scores add the terms one at a time in column order (multiply, then add: no fused
;;     multiply-add), as the row-major predict does;
;;   - exp is fdlibm's __ieee754_exp as V8's Math.exp has it (with its exp(1) = E), the branches
;;     turned into lane selects. Arguments it does not cover (|x| >= 708, NaN) go to the imported Math.exp.
;; Lengths are rounded up to whole pairs: an odd n reads and writes one double past the end,
;; which the arena keeps addressable and the callers never look at.
;;
;; Built into glm-wasm.ts by `npm run build:wasm` (scripts/build-wasm.mjs).
(module
  (import "env" "memory" (memory 1))
  (import "env" "exp" (func $mathExp (param f64) (result f64)))

  ;; exp of both lanes; see the header.
  (func $exp2 (param $x v128) (result v128)
    (local $ax v128) (local $sgn v128) (local $k v128) (local $hi v128) (local $lo v128)
    (local $r v128) (local $t v128) (local $c v128) (local $y v128) (local $res v128)
    (local.set $ax (f64x2.abs (local.get $x)))
    ;; copysign(1, x)
    (local.set $sgn
      (v128.or
        (v128.and (local.get $x) (v128.const i64x2 0x8000000000000000 0x8000000000000000))
        (v128.const f64x2 1 1)))
    ;; k: 0 when |x| <= 0.5 ln2 (fdlibm's high word <= 0x3fd62e42), +-1 below 1.5 ln2
    ;; (high word < 0x3ff0a2b2), else trunc(x / ln2 +- 0.5).
    (local.set $k
      (f64x2.trunc
        (f64x2.add
          (f64x2.mul (local.get $x) (v128.const f64x2 1.44269504088896338700e+00 1.44269504088896338700e+00))
          (f64x2.mul (local.get $sgn) (v128.const f64x2 0.5 0.5)))))
    (local.set $k
      (v128.bitselect (local.get $sgn) (local.get $k)
        (f64x2.lt (local.get $ax) (v128.const f64x2 0x1.0a2b2p+0 0x1.0a2b2p+0))))
    (local.set $k
      (v128.bitselect (v128.const f64x2 0 0) (local.get $k)
        (f64x2.lt (local.get $ax) (v128.const f64x2 0x1.62e43p-2 0x1.62e43p-2))))
    ;; hi - lo = x - k ln2, with ln2 split so that k * ln2hi is exact.
    (local.set $hi
      (f64x2.sub (local.get $x)
        (f64x2.mul (local.get $k) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01))))
    (local.set $lo
      (f64x2.mul (local.get $k) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10)))
    (local.set $r (f64x2.sub (local.get $hi) (local.get $lo)))
    (local.set $t (f64x2.mul (local.get $r) (local.get $r)))
    ;; c = r - t (P1 + t (P2 + t (P3 + t (P4 + t P5))))
    (local.set $c (v128.const f64x2 4.13813679705723846039e-08 4.13813679705723846039e-08))
    (local.set $c (f64x2.add (v128.const f64x2 -1.65339022054652515390e-06 -1.65339022054652515390e-06) (f64x2.mul (local.get $t) (local.get $c))))
    (local.set $c (f64x2.add (v128.const f64x2 6.61375632143793436117e-05 6.61375632143793436117e-05) (f64x2.mul (local.get $t) (local.get $c))))
    (local.set $c (f64x2.add (v128.const f64x2 -2.77777777770155933842e-03 -2.77777777770155933842e-03) (f64x2.mul (local.get $t) (local.get $c))))
    (local.set $c (f64x2.add (v128.const f64x2 1.66666666666666019037e-01 1.66666666666666019037e-01) (f64x2.mul (local.get $t) (local.get $c))))
    (local.set $c (f64x2.sub (local.get $r) (f64x2.mul (local.get $t) (local.get $c))))
    ;; y = 1 - ((lo - r c / (2 - c)) - hi); with k = 0 this equals fdlibm's 1 - (r c / (c - 2) - r).
    (local.set $y
      (f64x2.sub (v128.const f64x2 1 1)
        (f64x2.sub
          (f64x2.sub (local.get $lo)
            (f64x2.div (f64x2.mul (local.get $r) (local.get $c))
              (f64x2.sub (v128.const f64x2 2 2) (local.get $c))))
          (local.get $hi))))
    ;; times 2^k, built from its exponent bits (|k| <= 1021 here).
    (local.set $res
      (f64x2.mul (local.get $y)
        (i64x2.shl
          (i64x2.add
            (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $k)))
            (v128.const i64x2 1023 1023))
          (i32.const 52))))
    ;; |x| < 2^-28: 1 + x.
    (local.set $res
      (v128.bitselect
        (f64x2.add (v128.const f64x2 1 1) (local.get $x))
        (local.get $res)
        (f64x2.lt (local.get $ax) (v128.const f64x2 0x1p-28 0x1p-28))))
    ;; V8 returns E for exp(1), where the formula above is one ulp off.
    (local.set $res
      (v128.bitselect
        (v128.const f64x2 0x1.5bf0a8b145769p+1 0x1.5bf0a8b145769p+1)
        (local.get $res)
        (f64x2.eq (local.get $x) (v128.const f64x2 1 1))))
    ;; |x| >= 708 or NaN: Math.exp for both lanes (it agrees with the above where both apply).
    (if (v128.any_true (v128.not (f64x2.lt (local.get $ax) (v128.const f64x2 708 708))))
      (then
        (local.set $res (f64x2.replace_lane 0 (local.get $res) (call $mathExp (f64x2.extract_lane 0 (local.get $x)))))
        (local.set $res (f64x2.replace_lane 1 (local.get $res) (call $mathExp (f64x2.extract_lane 1 (local.get $x)))))))
    (local.get $res))

  ;; eta[i] = b + w[0] x0[i] + w[1] x1[i] + ... for i < n. $cols holds p i32 addresses (each
  ;; column's row 0), $w p doubles. Returns 1 when a score is not finite (NaN or infinite).
  (func (export "scores") (param $cols i32) (param $p i32) (param $w i32) (param $b f64) (param $n i32) (param $eta i32) (result i32)
    (local $end i32) (local $o i32) (local $j i32) (local $e v128) (local $bad v128)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    ;; byte length of the pairs covering n rows
    (local.set $end (i32.shl (i32.and (i32.add (local.get $n) (i32.const 1)) (i32.const -2)) (i32.const 3)))
    (local.set $e (f64x2.splat (local.get $b)))
    (local.set $o (i32.const 0))
    (block $filled
      (loop $fill
        (br_if $filled (i32.ge_u (local.get $o) (local.get $end)))
        (v128.store (i32.add (local.get $eta) (local.get $o)) (local.get $e))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $fill)))
    ;; four columns per sweep over eta
    (local.set $j (i32.const 0))
    (block $quads
      (loop $quad
        (br_if $quads (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $p)))
        (local.set $c0 (i32.load (i32.add (local.get $cols) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $c1 (i32.load offset=4 (i32.add (local.get $cols) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $c2 (i32.load offset=8 (i32.add (local.get $cols) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $c3 (i32.load offset=12 (i32.add (local.get $cols) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $w0 (v128.load64_splat (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $w1 (v128.load64_splat offset=8 (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $w2 (v128.load64_splat offset=16 (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $w3 (v128.load64_splat offset=24 (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $o (i32.const 0))
        (block $rows
          (loop $row
            (br_if $rows (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $e (v128.load (i32.add (local.get $eta) (local.get $o))))
            (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $w0) (v128.load (i32.add (local.get $c0) (local.get $o))))))
            (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $w1) (v128.load (i32.add (local.get $c1) (local.get $o))))))
            (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $w2) (v128.load (i32.add (local.get $c2) (local.get $o))))))
            (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $w3) (v128.load (i32.add (local.get $c3) (local.get $o))))))
            (v128.store (i32.add (local.get $eta) (local.get $o)) (local.get $e))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $row)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $quad)))
    ;; the last p mod 4 columns one at a time
    (block $singles
      (loop $single
        (br_if $singles (i32.ge_s (local.get $j) (local.get $p)))
        (local.set $c0 (i32.load (i32.add (local.get $cols) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $w0 (v128.load64_splat (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $o (i32.const 0))
        (block $rows1
          (loop $row1
            (br_if $rows1 (i32.ge_u (local.get $o) (local.get $end)))
            (v128.store (i32.add (local.get $eta) (local.get $o))
              (f64x2.add
                (v128.load (i32.add (local.get $eta) (local.get $o)))
                (f64x2.mul (local.get $w0) (v128.load (i32.add (local.get $c0) (local.get $o))))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $row1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $single)))
    ;; z - z is 0 for finite z and NaN otherwise. Whole pairs first, then an odd last row.
    (local.set $bad (v128.const i64x2 0 0))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $o (i32.const 0))
    (block $checked
      (loop $check
        (br_if $checked (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $e (v128.load (i32.add (local.get $eta) (local.get $o))))
        (local.set $e (f64x2.sub (local.get $e) (local.get $e)))
        (local.set $bad (v128.or (local.get $bad) (f64x2.ne (local.get $e) (local.get $e))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $check)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $b (f64.load (i32.add (local.get $eta) (local.get $end))))
        (local.set $b (f64.sub (local.get $b) (local.get $b)))
        (if (f64.ne (local.get $b) (local.get $b)) (then (return (i32.const 1))))))
    (v128.any_true (local.get $bad)))

  ;; Binary logistic probabilities: o1 = sigmoid(eta), o0 = 1 - o1, computed as the scalar path
  ;; does (e = exp(-|z|); o1 = z >= 0 ? 1 / (1 + e) : e / (1 + e)).
  (func (export "expit") (param $eta i32) (param $n i32) (param $o0 i32) (param $o1 i32)
    (local $end i32) (local $o i32) (local $z v128) (local $e v128) (local $d v128) (local $q v128)
    (local.set $end (i32.shl (i32.and (i32.add (local.get $n) (i32.const 1)) (i32.const -2)) (i32.const 3)))
    (local.set $o (i32.const 0))
    (block $done
      (loop $pair
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $z (v128.load (i32.add (local.get $eta) (local.get $o))))
        (local.set $e (call $exp2 (f64x2.neg (f64x2.abs (local.get $z)))))
        (local.set $d (f64x2.add (v128.const f64x2 1 1) (local.get $e)))
        (local.set $q
          (v128.bitselect
            (f64x2.div (v128.const f64x2 1 1) (local.get $d))
            (f64x2.div (local.get $e) (local.get $d))
            (f64x2.ge (local.get $z) (v128.const f64x2 0 0))))
        (v128.store (i32.add (local.get $o1) (local.get $o)) (local.get $q))
        (v128.store (i32.add (local.get $o0) (local.get $o)) (f64x2.sub (v128.const f64x2 1 1) (local.get $q)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $pair))))

  ;; v[i] = exp(v[i]) for i < n, in place.
  (func (export "expInPlace") (param $at i32) (param $n i32)
    (local $end i32) (local $o i32)
    (local.set $end (i32.shl (i32.and (i32.add (local.get $n) (i32.const 1)) (i32.const -2)) (i32.const 3)))
    (local.set $o (i32.const 0))
    (block $done
      (loop $pair
        (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
        (v128.store (i32.add (local.get $at) (local.get $o))
          (call $exp2 (v128.load (i32.add (local.get $at) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $pair))))
)
