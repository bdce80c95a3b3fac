// The ${...} expressions of pipeline files: numbers, params, + - * / // % **, parentheses
// and unary signs, with Python's semantics for integers (floor division and modulo) and
// checked int64 arithmetic. Every limit below is an error, never a crash or a hang.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace dnd::pipeline {

// Nesting of parentheses and unary signs in one expression.
constexpr int kMaxExpressionDepth = 200;
// Characters of one expression's text.
constexpr size_t kMaxExpressionChars = 4096;

// Evaluates the text inside ${...}. Integer arithmetic stays integer except '/'; an int64
// overflow (`2 ** 64`, `(-9223372036854775807 - 1) // -1`) is an error naming the
// operation, as is division by zero. Throws std::invalid_argument with a short reason.
YAML::Node evaluate_expression(const std::string& expr,
                               const std::vector<std::pair<std::string, YAML::Node>>& params);

}  // namespace dnd::pipeline
