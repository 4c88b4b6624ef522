"""Energy and area roll-up of a CIM inference: ADCs, arrays and digital periphery."""
