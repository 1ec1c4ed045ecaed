#include <gtest/gtest.h>

#include "error_message.hpp"
#include "msa/error.hpp"
#include "msa/profile.hpp"

namespace {

using msa::test::config_error;

TEST(Profile, LaptopHasEmulatedBoosterAndCluster) {
  const msa::Profile p = msa::find_profile("laptop");
  EXPECT_EQ(p.name, "laptop");
  ASSERT_EQ(p.modules.size(), 3u);
  EXPECT_EQ(p.modules[0].name, "booster");
  EXPECT_EQ(p.modules[0].backend, "host");
  EXPECT_EQ(p.modules[0].emulates, "gh200");
  EXPECT_EQ(p.modules[1].name, "cluster");
  EXPECT_EQ(p.modules[1].emulates, "rhea1");
  EXPECT_EQ(p.default_module, "host");
  EXPECT_EQ(p.index_of("cluster"), 1);
  EXPECT_EQ(p.index_of("nope"), -1);
  ASSERT_NE(p.find_by_psmpi_id(1), nullptr);
  EXPECT_EQ(p.find_by_psmpi_id(1)->name, "booster");
  EXPECT_EQ(p.find_by_psmpi_id(7), nullptr);
}

TEST(Profile, JupiterMapsModulesToHardwareClasses) {
  const msa::Profile p = msa::find_profile("jupiter");
  ASSERT_EQ(p.modules.size(), 2u);
  EXPECT_EQ(p.find("booster")->backend, "gh200");
  EXPECT_EQ(p.find("cluster")->backend, "rhea1");
  EXPECT_GT(p.find("booster")->nodes, 1000);
  EXPECT_GT(p.find("cluster")->nodes, 1000);
  EXPECT_EQ(p.default_module, "cluster");
  EXPECT_EQ(p.module_names(), "booster, cluster");
}

TEST(Profile, ParsesMinimalProfileAndDefaultsToFirstModule) {
  const auto p = msa::parse_profile("name = \"x\"\n[[modules]]\nname = \"a\"\nbackend = \"rhea1\"\n", "x.toml");
  EXPECT_EQ(p.default_module, "a");
  EXPECT_EQ(p.modules.at(0).nodes, 1);
  EXPECT_EQ(p.modules.at(0).line, 2);
  EXPECT_FALSE(p.modules.at(0).psmpi_id.has_value());
}

TEST(Profile, MalformedTomlNamesFileAndLine) {
  const std::string msg = config_error([] { msa::parse_profile("name = \"x\"\n[[modules]\n", "broken.toml"); });
  EXPECT_NE(msg.find("broken.toml:2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed TOML"), std::string::npos) << msg;
}

TEST(Profile, UnknownKeySuggestsTheRightOne) {
  const std::string msg = config_error(
      [] { msa::parse_profile("name = \"x\"\n[[modules]]\nname = \"a\"\nbakend = \"host\"\n", "typo.toml"); });
  EXPECT_NE(msg.find("typo.toml:4:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'bakend'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'backend'"), std::string::npos) << msg;
}

TEST(Profile, RejectsBadModules) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"name = \"x\"\n", "defines no modules"},
      {"name = \"x\"\nmodules = []\n", "x.toml:2:"},
      {"name = \"x\"\n[[modules]]\nname = \"a\"\nbackend = \"tpu\"\n", "unknown backend 'tpu'"},
      {"name = \"x\"\n[[modules]]\nbackend = \"host\"\n", "has no 'name'"},
      {"name = \"x\"\n[[modules]]\nname = \"a\"\nbackend = \"host\"\nnodes = 0\n", "x.toml:5:"},
      {"name = \"x\"\n[[modules]]\nname = \"a b\"\nbackend = \"host\"\n", "may only contain"},
      {"name = \"x\"\n[[modules]]\nname = \"a\"\nbackend = \"host\"\n[[modules]]\nname = \"a\"\nbackend = \"host\"\n",
       "defined twice"},
      {"name = \"x\"\ndefault_module = \"z\"\n[[modules]]\nname = \"a\"\nbackend = \"host\"\n", "x.toml:2:"},
      {"name = \"x\"\n[[modules]]\nname = \"a\"\nbackend = \"host\"\npsmpi_id = 1\n[[modules]]\nname = \"b\"\n"
       "backend = \"host\"\npsmpi_id = 1\n",
       "already used by module 'a'"},
      {"name = 3\n[[modules]]\nname = \"a\"\nbackend = \"host\"\n", "x.toml:1:"},
  };
  for (const auto& c : cases) {
    const std::string msg = config_error([&] { msa::parse_profile(c.text, "x.toml"); });
    EXPECT_NE(msg.find(c.expected), std::string::npos) << "input:\n" << c.text << "\nmessage: " << msg;
  }
}

TEST(Profile, MissingProfileListsWhereItLooked) {
  const std::string msg = config_error([] { msa::find_profile("no-such-machine"); });
  EXPECT_NE(msg.find("no profile named 'no-such-machine'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("backends/profiles"), std::string::npos) << msg;
  const std::string file = config_error([] { msa::find_profile("/nonexistent/dir/p.toml"); });
  EXPECT_NE(file.find("cannot read profile '/nonexistent/dir/p.toml'"), std::string::npos) << file;
}

}  // namespace
