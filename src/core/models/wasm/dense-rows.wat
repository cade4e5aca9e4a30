;; The dense-rows kernel of src/core/models/dense-rows.ts: acc[b] += sc · q[b] for b in [0, m), q an int16 row and acc
;; float64, both in the imported memory. Each element takes exactly the operations of the plain JavaScript loop
;; (int16 → float64, one float64 multiply, one float64 add, in the same order), two lanes at a time (f64x2), so the
;; sums are the same to the bit. Regenerate dense-rows-wasm.ts after an edit: npm run build:wasm.
(module
  (import "env" "memory" (memory 1))
  (func (export "addRow") (param $q i32) (param $acc i32) (param $m i32) (param $sc f64)
    (local $b i32) (local $end i32) (local $s v128) (local $v v128) (local $lo v128) (local $hi v128) (local $p i32)
    (local.set $s (f64x2.splat (local.get $sc)))
    (local.set $end (i32.and (local.get $m) (i32.const -8)))
    ;; Eight elements a turn: one 128-bit load of int16s, widened to two i32x4, converted two by two.
    (block $done
      (loop $eight
        (br_if $done (i32.ge_u (local.get $b) (local.get $end)))
        (local.set $v (v128.load align=2 (i32.add (local.get $q) (i32.shl (local.get $b) (i32.const 1)))))
        (local.set $lo (i32x4.extend_low_i16x8_s (local.get $v)))
        (local.set $hi (i32x4.extend_high_i16x8_s (local.get $v)))
        (local.set $p (i32.add (local.get $acc) (i32.shl (local.get $b) (i32.const 3))))
        (v128.store align=8 (local.get $p)
          (f64x2.add (v128.load align=8 (local.get $p))
            (f64x2.mul (local.get $s) (f64x2.convert_low_i32x4_s (local.get $lo)))))
        (v128.store offset=16 align=8 (local.get $p)
          (f64x2.add (v128.load offset=16 align=8 (local.get $p))
            (f64x2.mul (local.get $s) (f64x2.convert_low_i32x4_s
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lo) (local.get $lo))))))
        (v128.store offset=32 align=8 (local.get $p)
          (f64x2.add (v128.load offset=32 align=8 (local.get $p))
            (f64x2.mul (local.get $s) (f64x2.convert_low_i32x4_s (local.get $hi)))))
        (v128.store offset=48 align=8 (local.get $p)
          (f64x2.add (v128.load offset=48 align=8 (local.get $p))
            (f64x2.mul (local.get $s) (f64x2.convert_low_i32x4_s
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $hi) (local.get $hi))))))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (br $eight)))
    ;; The last m mod 8, one at a time.
    (block $rest
      (loop $one
        (br_if $rest (i32.ge_u (local.get $b) (local.get $m)))
        (local.set $p (i32.add (local.get $acc) (i32.shl (local.get $b) (i32.const 3))))
        (f64.store (local.get $p)
          (f64.add (f64.load (local.get $p))
            (f64.mul (local.get $sc)
              (f64.convert_i32_s (i32.load16_s (i32.add (local.get $q) (i32.shl (local.get $b) (i32.const 1))))))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $one))))
)
