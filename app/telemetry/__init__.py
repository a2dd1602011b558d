"""What operators watch: Prometheus metrics (`metrics`, `gauges`) and the health report (`app.health`)."""
