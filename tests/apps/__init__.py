"""Small applications that the worker tests run as real `jobdeck worker` processes."""
