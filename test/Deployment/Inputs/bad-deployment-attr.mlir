// Input of errors.test: a deployment attribute with tp = 0.
module attributes {kvtier.deployment = #kvtier.deployment<tp = 0, pp = 1, dp = 1>} {
}
