// multi_grid_sampler backward to the image: one thread per output gradient value
// gy[b, n, c, ho, wo], scattered into gx with atomicAdd (regions of one image overlap).
// in:  raw T gy (B, N, C, Ho, Wo), raw T grid (B, N, 2, Ho, Wo),
//      int32 N, int32 C, int32 H, int32 W, int32 HWo (= Ho * Wo)
// out: raw T gx (B, C, H, W), zero-filled by the caller; launched with size = gy.size.
const ptrdiff_t q = i % HWo;
const ptrdiff_t bnc = i / HWo;
const ptrdiff_t c = bnc % C;
const ptrdiff_t bn = bnc / C;
const ptrdiff_t b = bn / N;
const MgsPoint<T> p = mgs_point(grid[2 * bn * HWo + q], grid[(2 * bn + 1) * HWo + q], H, W);
const ptrdiff_t plane = (b * C + c) * H * W;
const T g = gy[i];
for (int k = 0; k < 4; ++k) {
  if (p.inside[k]) atomicAdd(&gx[plane + p.off[k]], g * p.w[k]);
}
