// multi_grid_sampler forward: one thread per output value y[b, n, c, ho, wo].
// in:  raw T x (B, C, H, W), raw T grid (B, N, 2, Ho, Wo),
//      int32 N, int32 C, int32 H, int32 W, int32 HWo (= Ho * Wo)
// out: raw T y (B, N, C, Ho, Wo); launched with size = y.size.
const ptrdiff_t q = i % HWo;        // output pixel ho * Wo + wo
const ptrdiff_t bnc = i / HWo;      // (b * N + n) * C + c
const ptrdiff_t c = bnc % C;
const ptrdiff_t bn = bnc / C;       // b * N + n
const ptrdiff_t b = bn / N;
const MgsPoint<T> p = mgs_point(grid[2 * bn * HWo + q], grid[(2 * bn + 1) * HWo + q], H, W);
const ptrdiff_t plane = (b * C + c) * H * W;
T acc = T(0);
for (int k = 0; k < 4; ++k) {
  if (p.inside[k]) acc += p.w[k] * x[plane + p.off[k]];
}
y[i] = acc;
