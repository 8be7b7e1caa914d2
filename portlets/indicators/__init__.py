"""Indicators (指标): snapshots, the recompute job, 我的指标 / 团队指标 portlets and the
城市驾驶舱 (city cockpit) page. See docs/indicators.md."""
