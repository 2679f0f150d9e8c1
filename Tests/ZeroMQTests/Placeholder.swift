// placeholder until its owner fills this target
