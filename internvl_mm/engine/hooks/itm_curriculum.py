"""A curriculum for stage 2's image-text matching: negatives from random to hard.

The paper's ITM draws each image's negative caption from the ITC similarities (BLIP-2's mining). Against a strong
stage-1 model those negatives differ from the true caption in one word, and a freshly initialised ITM head starts
there at chance. This hook raises the model's ``itm_negative_hardness`` linearly from ``start`` to 1 over the first
``warmup_iters`` iterations (0 draws negatives uniformly at random), so the head first learns to match at all and
then to tell the mined pairs apart; from then on training is the paper's recipe. The value follows the runner's
iteration, so a resumed run continues the same schedule.
"""
from mmengine.hooks import Hook

from internvl_mm.registry import HOOKS


@HOOKS.register_module()
class ITMHardNegativeCurriculumHook(Hook):
    """``custom_hooks = [dict(type='ITMHardNegativeCurriculumHook', warmup_iters=N)]`` on an InternVL with ITM."""
    priority = 'NORMAL'

    def __init__(self, warmup_iters: int, start: float = 0.0):
        if warmup_iters <= 0:
            raise ValueError(f'ITMHardNegativeCurriculumHook warmup_iters must be positive, got {warmup_iters}')
        if not 0.0 <= start <= 1.0:
            raise ValueError(f'ITMHardNegativeCurriculumHook start must be in [0, 1], got {start}')
        self.warmup_iters, self.start = warmup_iters, start

    def hardness(self, iteration: int) -> float:
        """The negatives' hardness at ``iteration`` (0-based): ``start`` -> 1 linearly, then 1."""
        progress = min(1.0, iteration / self.warmup_iters)
        return self.start + (1.0 - self.start) * progress

    def before_run(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
        if not hasattr(model, 'itm_negative_hardness'):
            raise ValueError(f'ITMHardNegativeCurriculumHook needs a model with ITM hard negatives (InternVL with '
                             f"losses including 'itm'); {type(model).__name__} has none: remove the hook")

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = getattr(runner.model, 'module', runner.model)
        model.itm_negative_hardness = self.hardness(runner.iter)

    def after_train(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
        model.itm_negative_hardness = 1.0  # evaluation and later use see the paper's recipe
