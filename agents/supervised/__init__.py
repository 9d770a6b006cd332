"""The supervised route: a language-model click model fine-tuned with FGSM/PGD adversarial examples.

See ``docs/supervised.md``. The pieces, each in its own module: :mod:`.data` (click examples from
AdvRec-v0 logs and MovieLens ratings, split by user), :mod:`.model` (the two-tower click model),
:mod:`.freezing`, :mod:`.adversarial`, :mod:`.train`, :mod:`.evaluate`, :mod:`.checkpoint`,
:mod:`.policy` (the model as an AdvRec-v0 recommender) and :mod:`.retrain` (re-fine-tuning online).
"""
