"""An example portlet plugin for 个人工作平台: a greeting for the signed-in person."""
