"""The results history (issue 23): every campaign in a database (the store), its measurements
looked back on (trends, comparisons) and judged against earlier comparable campaigns
(regressions). ``model`` holds what the store hands to the analyses."""
