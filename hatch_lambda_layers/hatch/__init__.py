"""hatch"""
