"""Published results that memspice reproduces and compares with: each paper's source data as shipped
CSV files (``<paper>/``) and a loader module of the same name returning typed arrays in SI units."""
