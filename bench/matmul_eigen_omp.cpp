// The Eigen-with-OpenMP peer of `forkpool matmul`, compiled by bench/matmul.py with
// -O3 -march=native -fopenmp: C = A * B for random n x n matrices on all OpenMP threads.
// Prints the best GFLOP/s of `repeats` products. Usage: matmul_eigen_omp N f32|f64 REPEATS

#include <Eigen/Core>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

template <class T>
double best_gflops(Eigen::Index n, int repeats) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Matrix a = Matrix::Random(n, n), b = Matrix::Random(n, n), c(n, n);
  double best = 0;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    c.noalias() = a * b;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double gflops = 2.0 * double(n) * double(n) * double(n) / s / 1e9;
    if (gflops > best) best = gflops;
  }
  return best + 0 * c(0, 0);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s N f32|f64 REPEATS\n", argv[0]);
    return 1;
  }
  Eigen::Index n = std::atol(argv[1]);
  int repeats = std::atoi(argv[3]);
  bool f32 = std::strcmp(argv[2], "f32") == 0;
  double g = f32 ? best_gflops<float>(n, repeats) : best_gflops<double>(n, repeats);
  std::printf("%.2f %d\n", g, Eigen::nbThreads());
  return 0;
}
