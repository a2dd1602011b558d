"""What runs a training job's virtual machines: the /opt/ml contract, executors, the supervisor."""
