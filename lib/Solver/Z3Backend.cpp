//===- Z3Backend.cpp - Solve a placement program with Z3 ------------------===//
#include "kvopt/Solver/Z3Backend.h"
#include "kvopt/Core/Error.h"

#include <z3++.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cmath>

using namespace kvopt;
using namespace kvopt::solver;

namespace {

/// Translate the program into Z3 terms.
struct Translation {
  std::vector<z3::expr> vars;
  std::vector<z3::expr> assertions;
  z3::expr objective;
  explicit Translation(z3::context &ctx) : objective(ctx.int_val(0)) {}
};

z3::expr sumOf(z3::context &ctx, const std::vector<LinearTerm> &terms,
               const std::vector<z3::expr> &vars, bool relax) {
  z3::expr_vector parts(ctx);
  for (const LinearTerm &t : terms) {
    z3::expr k = relax ? ctx.real_val(std::to_string(t.coef).c_str())
                       : ctx.int_val(int64_t(t.coef));
    parts.push_back(t.coef == 1 ? vars[t.var] : k * vars[t.var]);
  }
  if (parts.empty())
    return relax ? ctx.real_val(0) : ctx.int_val(0);
  return z3::sum(parts);
}

void translate(z3::context &ctx, const PlacementProgram &prog, bool relax,
               Translation &tr) {
  for (size_t v = 0; v < prog.variables(); ++v) {
    const char *name = prog.names[v].c_str();
    z3::expr x = relax ? ctx.real_const(name) : ctx.int_const(name);
    tr.vars.push_back(x);
    z3::expr zero = relax ? ctx.real_val(0) : ctx.int_val(0);
    tr.assertions.push_back(x >= zero);
    if (prog.kinds[v] == VarKind::Binary)
      tr.assertions.push_back(x <= (relax ? ctx.real_val(1) : ctx.int_val(1)));
  }
  for (const LinearConstraint &c : prog.constraints) {
    z3::expr lhs = sumOf(ctx, c.terms, tr.vars, relax);
    z3::expr rhs = relax ? ctx.real_val(std::to_string(c.rhs).c_str())
                         : ctx.int_val(int64_t(c.rhs));
    switch (c.rel) {
    case Relation::LE:
      tr.assertions.push_back(lhs <= rhs);
      break;
    case Relation::EQ:
      tr.assertions.push_back(lhs == rhs);
      break;
    case Relation::GE:
      tr.assertions.push_back(lhs >= rhs);
      break;
    }
  }
  tr.objective = sumOf(ctx, prog.objective, tr.vars, relax);
}

double numeralToDouble(const z3::expr &e) {
  std::string s = e.get_decimal_string(30);
  if (!s.empty() && s.back() == '?')
    s.pop_back();
  return std::strtod(s.c_str(), nullptr);
}

} // namespace

llvm::Expected<Z3Solution> kvopt::solver::solveWithZ3(const PlacementProgram &prog,
                                                      bool relax,
                                                      double timeLimitSeconds,
                                                      uint64_t resourceLimit) {
  auto t0 = std::chrono::steady_clock::now();
  Z3Solution out;
  try {
    z3::context ctx;
    Translation tr(ctx);
    translate(ctx, prog, relax, tr);
    z3::optimize opt(ctx);
    z3::params params(ctx);
    params.set("timeout", unsigned(std::max(1.0, timeLimitSeconds * 1000)));
    if (resourceLimit)
      params.set("rlimit", unsigned(std::min<uint64_t>(resourceLimit, UINT32_MAX)));
    opt.set(params);
    for (const z3::expr &a : tr.assertions)
      opt.add(a);
    z3::optimize::handle h = opt.minimize(tr.objective);
    z3::check_result r = opt.check();
    if (r == z3::unsat) {
      out.status = Z3Solution::Status::Infeasible;
    } else if (r == z3::sat) {
      z3::model m = opt.get_model();
      z3::expr obj = m.eval(tr.objective, true);
      out.status = Z3Solution::Status::Optimal;
      out.objectiveExact = obj.to_string();
      out.objectiveUnits = numeralToDouble(obj);
      if (!relax) {
        out.values.resize(prog.variables());
        for (size_t v = 0; v < prog.variables(); ++v)
          out.values[v] = m.eval(tr.vars[v], true).get_numeral_int64();
      }
    } else {
      out.status = Z3Solution::Status::Timeout;
      z3::expr lo = opt.lower(h);
      if (lo.is_numeral())
        out.lowerUnits = numeralToDouble(lo);
    }
  } catch (const z3::exception &e) {
    return makeFieldError("z3", "solve", e.msg());
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                    .count();
  return out;
}

llvm::Expected<bool> kvopt::solver::decideWithZ3(const PlacementProgram &prog,
                                                 const std::string &threshold,
                                                 double timeLimitSeconds) {
  try {
    z3::context ctx;
    Translation tr(ctx);
    translate(ctx, prog, false, tr);
    z3::solver s(ctx);
    z3::params params(ctx);
    params.set("timeout", unsigned(std::max(1.0, timeLimitSeconds * 1000)));
    s.set(params);
    for (const z3::expr &a : tr.assertions)
      s.add(a);
    s.add(tr.objective <= ctx.int_val(threshold.c_str()));
    z3::check_result r = s.check();
    if (r == z3::unknown)
      return makeFieldError("z3", "decide", "timed out: " + s.reason_unknown());
    return r == z3::sat;
  } catch (const z3::exception &e) {
    return makeFieldError("z3", "decide", e.msg());
  }
}
