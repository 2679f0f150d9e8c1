print("passerelle-bus")
