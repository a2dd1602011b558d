"""The Ray executor: a Ray cluster's nodes are the hosts, and each node's agent actor runs its VMs."""
