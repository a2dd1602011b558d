"""Hosts: the instance-type catalog, the pool of hosts and the VMs carved out of them."""
