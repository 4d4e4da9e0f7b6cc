print("potluck")
