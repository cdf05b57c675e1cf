"""
Page rendering shared by the local console and the Airflow plugin: layout, inline SVG charts, and the
model-family pages with their reader of the family layout in S3. Standard library and botocore only,
so the plugin loads where the provider is installed without the ``[local]`` extra.
"""
