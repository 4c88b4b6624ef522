"""Network accuracy with CIM-mapped layers and SPICE-characterized ADCs.

Submodules (each imports torch itself, so ``import memspice.nn`` stays light):

- :mod:`memspice.nn.data`: Fashion-MNIST (IDX files) and CIFAR-10 (python-pickle batches) loaders;
- :mod:`memspice.nn.networks`: NeuroSim's VGG8 (with a width multiplier) and the CIFAR ResNet18;
- :mod:`memspice.nn.quantizers`: ADC models (uniform min-max, clipped uniform, Lloyd-Max,
  variation-aware, boundary variation, super-resolution), pure numpy/torch;
- :mod:`memspice.nn.artifacts`: the SPICE artifacts consumed here (``adc.json``, ``column_model.json``);
- :mod:`memspice.nn.cim`: the compute-in-memory mapping (quantized weights on differential
  conductance pairs, sub-arrays of R rows, an ADC on every sub-array partial sum);
- :mod:`memspice.nn.train` and :mod:`memspice.nn.evaluate`: the ``memspice train`` and
  ``memspice evaluate`` flows.
"""
