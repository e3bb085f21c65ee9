"""movierec.viz: plotly charts for movierec. DataFrames in, Figures out."""
