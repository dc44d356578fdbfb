"""wildchat: collect, curate, analyse and publish real-world chatbot conversations.

Importing the package does nothing but define names: settings, engines and
models are built by functions when a command asks for them.
"""

__version__ = "0.1.0"
