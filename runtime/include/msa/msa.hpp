#pragma once
/// Umbrella header: everything a program using msa needs.

#include "msa/backend.hpp"
#include "msa/channel.hpp"
#include "msa/comm.hpp"
#include "msa/contract.hpp"
#include "msa/decomposition.hpp"
#include "msa/discovery.hpp"
#include "msa/error.hpp"
#include "msa/placement.hpp"
#include "msa/profile.hpp"
#include "msa/scheduler.hpp"
#include "msa/session.hpp"
#include "msa/topology.hpp"
#include "msa/version.hpp"
