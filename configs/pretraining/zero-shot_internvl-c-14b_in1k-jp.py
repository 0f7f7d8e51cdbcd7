# Zero-shot ImageNet-1K with Japanese class names and prompts, InternVL-C (paper: 61.5 top-1). The names and
# templates are clip_benchmark's jp_classnames.json / jp_zeroshot_classification_templates.json (read from
# the installed clip_benchmark package, the files the official evaluation uses; no translation is made here). To
# use your own, set model.zero_shot.class_names / templates to text files (one entry a line, '{}' for the name).
_base_ = './zero-shot_internvl-c-14b_in1k.py'
model = dict(zero_shot=dict(class_names='clip_benchmark:jp', templates='clip_benchmark:jp'))
