"""Pages of the Streamlit app: gather input, call the library, render."""
