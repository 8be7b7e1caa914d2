"""Three simulated source systems — 专卖 (monopoly), 营销 (marketing), 物流 (logistics) — built
to look like separately made systems: their own databases, naming, codes and keys. 物流 is
reached over its own HTTP/JSON API. They exist for the demo, the tests and the benchmarks."""
