"""pareto"""
