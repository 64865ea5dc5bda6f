print("gpd")
