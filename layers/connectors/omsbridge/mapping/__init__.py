"""Pure mappings between Commerce and Sterling shapes. No I/O here: data in, data out."""
