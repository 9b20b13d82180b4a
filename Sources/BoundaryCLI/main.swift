print("boundary")
