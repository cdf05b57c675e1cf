"""The Airflow plugin "Amazon ML" (``aml_provider.plugins.amazon_ml``): model family pages in the Airflow
UI, served by the API server at ``/amazon-ml/``. Nothing is imported here, so that the operators' extra
link can use ``paths`` without building the plugin's app."""
