"""CloudWatch metrics (`GraniteServiceVersion20100801.*`) over the job metric series."""
