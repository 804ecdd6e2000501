"""imcopt domain: workloads, the IMC hardware cost model, search spaces and the joint problem."""
