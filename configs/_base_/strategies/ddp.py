# Plain data parallel: mmengine's Runner with DDP (the default when no strategy is included). Every rank holds the
# full model, gradients and optimizer states.
runner_type = 'Runner'
