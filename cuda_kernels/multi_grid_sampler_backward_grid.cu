// multi_grid_sampler backward to the grid: one thread per grid point (b, n, ho, wo),
// looping over the C channels.
// in:  raw T x (B, C, H, W), raw T grid (B, N, 2, Ho, Wo), raw T gy (B, N, C, Ho, Wo),
//      int32 N, int32 C, int32 H, int32 W, int32 HWo (= Ho * Wo)
// out: raw T ggrid (B, N, 2, Ho, Wo); launched with size = B * N * Ho * Wo.
const ptrdiff_t q = i % HWo;
const ptrdiff_t bn = i / HWo;
const ptrdiff_t b = bn / N;
const MgsPoint<T> p = mgs_point(grid[2 * bn * HWo + q], grid[(2 * bn + 1) * HWo + q], H, W);
T gu = T(0);
T gv = T(0);
for (int c = 0; c < C; ++c) {
  const ptrdiff_t plane = (b * C + c) * H * W;
  T val[4];
  for (int k = 0; k < 4; ++k) val[k] = p.inside[k] ? x[plane + p.off[k]] : T(0);
  const T g = gy[(bn * C + c) * HWo + q];
  // d y / d(pixel x) and d y / d(pixel y) of the bilinear interpolation
  gu += g * (p.y.w_lo * (val[1] - val[0]) + p.y.w_hi * (val[3] - val[2]));
  gv += g * (p.x.w_lo * (val[2] - val[0]) + p.x.w_hi * (val[3] - val[1]));
}
ggrid[2 * bn * HWo + q] = gu * p.x.dpix;
ggrid[(2 * bn + 1) * HWo + q] = gv * p.y.dpix;
