#pragma once
// The bioinformatics core of biopipe: sequence files, synthetic data, read
// filtering, k-mer spectra, seeded Smith-Waterman alignment on Kokkos, the
// summary of alignments and the byte buffers tasks exchange. One header per
// concept under core/; this one includes them all.
#include "core/align.hpp"
#include "core/filter.hpp"
#include "core/kmers.hpp"
#include "core/sequences.hpp"
#include "core/serialize.hpp"
#include "core/summary.hpp"
#include "core/synthetic.hpp"
