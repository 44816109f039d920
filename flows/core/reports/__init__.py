"""The HTML reports (data analysis, run, retraining): one offline file each,
with inline SVG charts."""
