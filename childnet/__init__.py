"""childnet"""
