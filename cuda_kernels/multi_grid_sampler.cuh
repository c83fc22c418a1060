// Device helpers shared by the three multi_grid_sampler kernels.
//
// One set of files, compiled three ways: as the preamble of CuPy ElementwiseKernels, by the
// NVRTC test (the exact source CuPy generates), and as host C++ by the CPU test (with
// __device__ defined empty and atomicAdd a plain add).  Keep it plain C++11 that needs
// nothing but the template argument T and ptrdiff_t.
//
// Coordinate convention (that of chainer.functions.spatial_transformer_sampler): a grid value
// g maps to the pixel coordinate (g + 1) * (size - 1) / 2, so -1 is pixel 0 and +1 pixel
// size - 1 (align corners).  The image behaves as if padded with one pixel of zeros on each
// side: the coordinate is clipped to [-1, size], the 2x2 neighbourhood around the clipped
// point is read, and neighbours outside the image read 0.  The derivative of the coordinate
// with respect to g is (size - 1) / 2 strictly inside the clip range and 0 where the clip
// is active, including exactly on its two ends.

// One axis of a sampling point.
template <typename T>
struct MgsAxis {
  int lo;   // pixel index of the lower neighbour, in [-1, size - 1]; the upper one is lo + 1
  T w_lo;   // bilinear weight of the lower neighbour
  T w_hi;   // bilinear weight of the upper neighbour
  T dpix;   // d(pixel coordinate) / d(grid value); 0 where the clip is active
};

template <typename T>
__device__ MgsAxis<T> mgs_axis(const T g, const int size) {
  MgsAxis<T> a;
  // Coordinate in the padded image (image pixel 0 is padded pixel 1).  Same operation order
  // as Chainer, so that points exactly on pixel centres fall on the same side.
  const T p = (g + T(1)) * T(size - 1) / T(2) + T(1);
  const T pc = p < T(0) ? T(0) : (p > T(size + 1) ? T(size + 1) : p);
  int i0 = (int)floor(pc);
  if (i0 > size) i0 = size;
  a.lo = i0 - 1;
  a.w_lo = T(i0 + 1) - pc;
  a.w_hi = pc - T(i0);
  a.dpix = (p > T(0) && p < T(size + 1)) ? T(size - 1) / T(2) : T(0);
  return a;
}

// A sampling point: its 2x2 neighbourhood, in the order top-left, top-right, bottom-left,
// bottom-right (k = 2 * row + column).
template <typename T>
struct MgsPoint {
  MgsAxis<T> x;       // width axis (grid channel 0)
  MgsAxis<T> y;       // height axis (grid channel 1)
  bool inside[4];     // whether neighbour k lies inside the image
  ptrdiff_t off[4];   // flat offset of neighbour k within one (H, W) plane (0 if outside)
  T w[4];             // bilinear weight of neighbour k
};

template <typename T>
__device__ MgsPoint<T> mgs_point(const T gx, const T gy, const int H, const int W) {
  MgsPoint<T> p;
  p.x = mgs_axis(gx, W);
  p.y = mgs_axis(gy, H);
  for (int k = 0; k < 4; ++k) {
    const int col = p.x.lo + (k & 1);
    const int row = p.y.lo + (k >> 1);
    p.inside[k] = 0 <= col && col < W && 0 <= row && row < H;
    p.off[k] = p.inside[k] ? (ptrdiff_t)row * W + col : 0;
    p.w[k] = ((k & 1) ? p.x.w_hi : p.x.w_lo) * ((k >> 1) ? p.y.w_hi : p.y.w_lo);
  }
  return p;
}
