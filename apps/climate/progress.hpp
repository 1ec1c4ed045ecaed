#pragma once
// A progress line: updated in place on a terminal, plain lines (every 10 %)
// when the output goes to a file or a pipe.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace climate {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class Progress {
 public:
  Progress(std::string who, bool enabled)
      : m_who(std::move(who)), m_enabled(enabled), m_tty(isatty(STDOUT_FILENO) != 0), m_start(now()) {}

  void update(int64_t step, int64_t total, double model_seconds, int64_t dropped) {
    if (!m_enabled) return;
    const double t = now();
    const int decile = total > 0 ? static_cast<int>(10 * step / total) : 10;
    if (m_tty ? t - m_last < 0.2 && step < total : decile == m_decile) return;
    m_last = t;
    m_decile = decile;
    const double rate = static_cast<double>(step) / std::max(t - m_start, 1e-9);
    std::printf("%s%s: step %lld/%lld, day %.2f, %.0f steps/s, %lld analysis steps dropped%s", m_tty ? "\r" : "",
                m_who.c_str(), static_cast<long long>(step), static_cast<long long>(total), model_seconds / 86400.0,
                rate, static_cast<long long>(dropped), m_tty ? "   " : "\n");
    std::fflush(stdout);
  }
  void finish() {
    if (m_enabled && m_tty) std::printf("\n");
  }

 private:
  std::string m_who;
  bool m_enabled, m_tty;
  double m_start, m_last = 0;
  int m_decile = -1;
};

}  // namespace climate
