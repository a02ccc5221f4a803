print("casehub")
