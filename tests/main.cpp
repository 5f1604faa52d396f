#define CATCH_CONFIG_MAIN  // Catch2's own entry point
#include <catch2/catch.hpp>
