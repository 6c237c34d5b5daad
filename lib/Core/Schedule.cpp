//===- Schedule.cpp - Precomputed schedules and their replay -------------===//
#include "kvopt/Core/Schedule.h"
#include "kvopt/Core/Error.h"

using namespace kvopt;

Policy::~Policy() = default;

void Schedule::addRecord(llvm::ArrayRef<BlockId> demote,
                         llvm::ArrayRef<BlockId> promote, bool newBlockInHbm) {
  moves.insert(moves.end(), demote.begin(), demote.end());
  offsets.push_back(moves.size());
  moves.insert(moves.end(), promote.begin(), promote.end());
  offsets.push_back(moves.size());
  newInHbm.push_back(newBlockInHbm);
}

llvm::ArrayRef<BlockId> Schedule::demotions(uint64_t rec) const {
  return llvm::ArrayRef<BlockId>(moves).slice(
      offsets[2 * rec], offsets[2 * rec + 1] - offsets[2 * rec]);
}

llvm::ArrayRef<BlockId> Schedule::promotions(uint64_t rec) const {
  return llvm::ArrayRef<BlockId>(moves).slice(
      offsets[2 * rec + 1], offsets[2 * rec + 2] - offsets[2 * rec + 1]);
}

namespace {

class SchedulePolicy : public Policy {
public:
  SchedulePolicy(const Schedule &s, std::string name)
      : schedule(s), policyName(std::move(name)) {}
  std::string name() const override { return policyName; }
  ResidencyFeatures features() const override { return {false, false}; }
  llvm::Error initialize(const SimContext &,
                         std::vector<BlockId> &hbm) override {
    hbm = schedule.initialHbm;
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    const Residency &res = ctx.res;
    uint64_t rec =
        (uint64_t(info.step) * res.layers() + info.layer) * res.batch() +
        info.seq;
    if (rec >= schedule.records())
      return makeFieldError("schedule '" + policyName + "'", "records",
                            "has " + std::to_string(schedule.records()) +
                                " records; the trace needs more (step " +
                                std::to_string(info.step) + ", layer " +
                                std::to_string(info.layer) + ")");
    auto d = schedule.demotions(rec), p = schedule.promotions(rec);
    act.demote.assign(d.begin(), d.end());
    act.promote.assign(p.begin(), p.end());
    act.newBlockInHbm = schedule.newBlockInHbm(rec);
    return llvm::Error::success();
  }

private:
  const Schedule &schedule;
  std::string policyName;
};

class RecordingPolicy : public Policy {
public:
  RecordingPolicy(Policy &inner, Schedule &out) : inner(inner), out(out) {}
  std::string name() const override { return inner.name(); }
  bool ignoresCapacity() const override { return inner.ignoresCapacity(); }
  ResidencyFeatures features() const override { return inner.features(); }
  llvm::Error initialize(const SimContext &ctx,
                         std::vector<BlockId> &hbm) override {
    if (auto e = inner.initialize(ctx, hbm))
      return e;
    out = Schedule();
    out.initialHbm = hbm;
    return llvm::Error::success();
  }
  llvm::Error step(const SimContext &ctx, const StepInfo &info,
                   StepActions &act) override {
    if (auto e = inner.step(ctx, info, act))
      return e;
    out.addRecord(act.demote, act.promote,
                  info.opensBlock && act.newBlockInHbm);
    return llvm::Error::success();
  }

private:
  Policy &inner;
  Schedule &out;
};

} // namespace

std::unique_ptr<Policy> kvopt::createSchedulePolicy(const Schedule &schedule,
                                                    std::string name) {
  return std::make_unique<SchedulePolicy>(schedule, std::move(name));
}

std::unique_ptr<Policy> kvopt::createRecordingPolicy(Policy &inner,
                                                     Schedule &out) {
  return std::make_unique<RecordingPolicy>(inner, out);
}
