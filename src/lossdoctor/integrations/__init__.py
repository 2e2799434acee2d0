"""lossdoctor inside a framework's own training loop, as a callback: Lightning
(``lossdoctor.integrations.lightning``), the Hugging Face Trainer
(``lossdoctor.integrations.transformers``) and Keras 3 on the torch backend
(``lossdoctor.integrations.keras``). Each imports its framework only when imported itself."""
